from contracts.services.accounts import account_pb2 as _account_pb2
from contracts.services.cards import card_pb2 as _card_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountView(_message.Message):
    __slots__ = ("id", "type", "cards", "status", "balance")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CARDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: _account_pb2.AccountType
    cards: _containers.RepeatedCompositeFieldContainer[_card_pb2.Card]
    status: _account_pb2.AccountStatus
    balance: float
    def __init__(self, id: _Optional[str] = ..., type: _Optional[_Union[_account_pb2.AccountType, str]] = ..., cards: _Optional[_Iterable[_Union[_card_pb2.Card, _Mapping]]] = ..., status: _Optional[_Union[_account_pb2.AccountStatus, str]] = ..., balance: _Optional[float] = ...) -> None: ...
