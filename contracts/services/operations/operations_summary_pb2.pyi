from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class OperationsSummary(_message.Message):
    __slots__ = ("spent_amount", "received_amount", "cashback_amount")
    SPENT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CASHBACK_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    spent_amount: float
    received_amount: float
    cashback_amount: float
    def __init__(self, spent_amount: _Optional[float] = ..., received_amount: _Optional[float] = ..., cashback_amount: _Optional[float] = ...) -> None: ...
