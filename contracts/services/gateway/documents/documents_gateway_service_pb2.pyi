from contracts.services.gateway.documents import rpc_get_tariff_document_pb2 as _rpc_get_tariff_document_pb2
from contracts.services.gateway.documents import rpc_get_contract_document_pb2 as _rpc_get_contract_document_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
