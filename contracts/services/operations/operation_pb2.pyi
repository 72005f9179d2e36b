from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OperationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPERATION_TYPE_UNSPECIFIED: _ClassVar[OperationType]
    OPERATION_TYPE_FEE: _ClassVar[OperationType]
    OPERATION_TYPE_TOP_UP: _ClassVar[OperationType]
    OPERATION_TYPE_PURCHASE: _ClassVar[OperationType]
    OPERATION_TYPE_CASHBACK: _ClassVar[OperationType]
    OPERATION_TYPE_TRANSFER: _ClassVar[OperationType]
    OPERATION_TYPE_BILL_PAYMENT: _ClassVar[OperationType]
    OPERATION_TYPE_CASH_WITHDRAWAL: _ClassVar[OperationType]

class OperationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPERATION_STATUS_UNSPECIFIED: _ClassVar[OperationStatus]
    OPERATION_STATUS_IN_PROGRESS: _ClassVar[OperationStatus]
    OPERATION_STATUS_COMPLETED: _ClassVar[OperationStatus]
    OPERATION_STATUS_FAILED: _ClassVar[OperationStatus]
OPERATION_TYPE_UNSPECIFIED: OperationType
OPERATION_TYPE_FEE: OperationType
OPERATION_TYPE_TOP_UP: OperationType
OPERATION_TYPE_PURCHASE: OperationType
OPERATION_TYPE_CASHBACK: OperationType
OPERATION_TYPE_TRANSFER: OperationType
OPERATION_TYPE_BILL_PAYMENT: OperationType
OPERATION_TYPE_CASH_WITHDRAWAL: OperationType
OPERATION_STATUS_UNSPECIFIED: OperationStatus
OPERATION_STATUS_IN_PROGRESS: OperationStatus
OPERATION_STATUS_COMPLETED: OperationStatus
OPERATION_STATUS_FAILED: OperationStatus

class Operation(_message.Message):
    __slots__ = ("id", "type", "status", "amount", "card_id", "category", "created_at", "account_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CARD_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: OperationType
    status: OperationStatus
    amount: float
    card_id: str
    category: str
    created_at: str
    account_id: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[_Union[OperationType, str]] = ..., status: _Optional[_Union[OperationStatus, str]] = ..., amount: _Optional[float] = ..., card_id: _Optional[str] = ..., category: _Optional[str] = ..., created_at: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...
