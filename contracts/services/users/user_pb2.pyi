from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class User(_message.Message):
    __slots__ = ("id", "email", "last_name", "first_name", "middle_name", "phone_number")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    MIDDLE_NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    id: str
    email: str
    last_name: str
    first_name: str
    middle_name: str
    phone_number: str
    def __init__(self, id: _Optional[str] = ..., email: _Optional[str] = ..., last_name: _Optional[str] = ..., first_name: _Optional[str] = ..., middle_name: _Optional[str] = ..., phone_number: _Optional[str] = ...) -> None: ...
