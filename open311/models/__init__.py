"""SQLAlchemy 2 declarative models (GeoAlchemy2 for geometry). WGS84 everywhere."""

from open311.models.base import Base
from open311.models.geography import AddressPoint, Area, AreaPart, JurisdictionPart
from open311.models.jurisdiction import Jurisdiction
from open311.models.key import ApiKey
from open311.models.media import IdempotentAnswer, Media
from open311.models.request import RequestContact, RequestEvent, ServiceRequest
from open311.models.service import Service, ServiceAttribute
from open311.models.tally import RequestTally

__all__ = [
    "AddressPoint",
    "ApiKey",
    "Area",
    "AreaPart",
    "Base",
    "IdempotentAnswer",
    "Jurisdiction",
    "JurisdictionPart",
    "Media",
    "RequestContact",
    "RequestEvent",
    "RequestTally",
    "Service",
    "ServiceAttribute",
    "ServiceRequest",
]
