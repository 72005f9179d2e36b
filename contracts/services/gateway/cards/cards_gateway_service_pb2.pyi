from contracts.services.gateway.cards import rpc_issue_virtual_card_pb2 as _rpc_issue_virtual_card_pb2
from contracts.services.gateway.cards import rpc_issue_physical_card_pb2 as _rpc_issue_physical_card_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
