from contracts.services.operations import operation_pb2 as _operation_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MakeTopUpOperationRequest(_message.Message):
    __slots__ = ("status", "amount", "card_id", "account_id")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CARD_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    status: _operation_pb2.OperationStatus
    amount: float
    card_id: str
    account_id: str
    def __init__(self, status: _Optional[_Union[_operation_pb2.OperationStatus, str]] = ..., amount: _Optional[float] = ..., card_id: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...

class MakeTopUpOperationResponse(_message.Message):
    __slots__ = ("operation",)
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    operation: _operation_pb2.Operation
    def __init__(self, operation: _Optional[_Union[_operation_pb2.Operation, _Mapping]] = ...) -> None: ...
