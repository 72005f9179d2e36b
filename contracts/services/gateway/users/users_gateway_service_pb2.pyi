from contracts.services.gateway.users import rpc_get_user_pb2 as _rpc_get_user_pb2
from contracts.services.gateway.users import rpc_create_user_pb2 as _rpc_create_user_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
