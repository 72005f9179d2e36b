"""The gateway's protobuf types, read from a descriptor set into a pool of our own.

Why not import generated ``_pb2`` modules: a course project that installs ``seeding`` has its own
top-level ``contracts`` package, stubs generated from the same .proto files. Ours would shadow
theirs or be shadowed, and both register the same full names (``contracts.services.users.User``)
in protobuf's default pool, where two definitions that differ by a byte collide. Generated code
also checks that the protobuf runtime is at least the version that made it, which would pin our
users' protobuf. A ``FileDescriptorSet`` in a private ``DescriptorPool`` has none of these ties:
the same names, the same wire format, any protobuf runtime from 6.31 on.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import EnumDescriptor, ServiceDescriptor
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

__all__ = ["message_class", "proto_enum", "proto_service"]

_DESCRIPTOR_SET = "gateway.binpb"


@cache
def _pool() -> DescriptorPool:
    """Every file of the contract, added in the order protoc wrote them (dependencies first)."""
    data = files(__package__).joinpath(_DESCRIPTOR_SET).read_bytes()
    pool = DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        pool.AddSerializedFile(file.SerializeToString())
    return pool


@cache
def message_class(full_name: str) -> type[Message]:
    """The class of message ``full_name``, e.g. ``"contracts.services.users.User"``."""
    return GetMessageClass(_pool().FindMessageTypeByName(full_name))


def proto_enum(full_name: str) -> EnumDescriptor:
    """The descriptor of enum ``full_name``, e.g. ``"contracts.services.accounts.AccountType"``."""
    return _pool().FindEnumTypeByName(full_name)


def proto_service(full_name: str) -> ServiceDescriptor:
    """The descriptor of service ``full_name``, e.g. ``"contracts.services.gateway.users.UsersGatewayService"``."""
    return _pool().FindServiceByName(full_name)
