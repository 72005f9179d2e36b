from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CardType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CARD_TYPE_UNSPECIFIED: _ClassVar[CardType]
    CARD_TYPE_VIRTUAL: _ClassVar[CardType]
    CARD_TYPE_PHYSICAL: _ClassVar[CardType]

class CardStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CARD_STATUS_UNSPECIFIED: _ClassVar[CardStatus]
    CARD_STATUS_ACTIVE: _ClassVar[CardStatus]
    CARD_STATUS_FROZEN: _ClassVar[CardStatus]
    CARD_STATUS_CLOSED: _ClassVar[CardStatus]
    CARD_STATUS_BLOCKED: _ClassVar[CardStatus]

class CardPaymentSystem(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CARD_PAYMENT_SYSTEM_UNSPECIFIED: _ClassVar[CardPaymentSystem]
    CARD_PAYMENT_SYSTEM_MASTERCARD: _ClassVar[CardPaymentSystem]
    CARD_PAYMENT_SYSTEM_VISA: _ClassVar[CardPaymentSystem]
CARD_TYPE_UNSPECIFIED: CardType
CARD_TYPE_VIRTUAL: CardType
CARD_TYPE_PHYSICAL: CardType
CARD_STATUS_UNSPECIFIED: CardStatus
CARD_STATUS_ACTIVE: CardStatus
CARD_STATUS_FROZEN: CardStatus
CARD_STATUS_CLOSED: CardStatus
CARD_STATUS_BLOCKED: CardStatus
CARD_PAYMENT_SYSTEM_UNSPECIFIED: CardPaymentSystem
CARD_PAYMENT_SYSTEM_MASTERCARD: CardPaymentSystem
CARD_PAYMENT_SYSTEM_VISA: CardPaymentSystem

class Card(_message.Message):
    __slots__ = ("id", "pin", "cvv", "type", "status", "account_id", "card_number", "card_holder", "expiry_date", "payment_system")
    ID_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    CVV_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CARD_HOLDER_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_DATE_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    id: str
    pin: str
    cvv: str
    type: CardType
    status: CardStatus
    account_id: str
    card_number: str
    card_holder: str
    expiry_date: str
    payment_system: CardPaymentSystem
    def __init__(self, id: _Optional[str] = ..., pin: _Optional[str] = ..., cvv: _Optional[str] = ..., type: _Optional[_Union[CardType, str]] = ..., status: _Optional[_Union[CardStatus, str]] = ..., account_id: _Optional[str] = ..., card_number: _Optional[str] = ..., card_holder: _Optional[str] = ..., expiry_date: _Optional[str] = ..., payment_system: _Optional[_Union[CardPaymentSystem, str]] = ...) -> None: ...
