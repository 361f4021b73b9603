"""The CBV 2.0 standard vocabularies, and the spellings one value can take.

EPCIS events name business steps, dispositions and the like from the GS1 Core Business
Vocabulary (CBV). The same value reaches us in four spellings, depending on the era and the
tool that wrote it:

* the bare term of EPCIS 2.0 JSON-LD (``shipping``), which the EPCIS context maps to ...
* ... the CBV Web URI (``https://ref.gs1.org/cbv/BizStep-shipping``),
* its CURIE (``cbv:BizStep-shipping``), and
* the CBV 1.x URN of EPCIS 1.x XML (``urn:epcglobal:cbv:bizstep:shipping``).

:func:`normalise` folds all four to the bare term, so validation, queries and recall reports
compare like with like. The term lists are written out here rather than read from GS1's JSON-LD
context files at run time: the ledger core does no I/O, the lists change only with a new CBV
release (a code change anyway), and a test compares them with the context files.

The sensor measurement and alert types are GS1 Web Vocabulary terms (``gs1:Temperature``), not
CBV, but EPCIS uses them the same way, so they live here too (they have no URN form).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal[
    "bizStep",
    "disposition",
    "bizTransactionType",
    "sourceDestType",
    "errorReason",
    "component",
    "measurementType",
    "sensorAlertType",
]

CBV_BASE: Final = "https://ref.gs1.org/cbv/"
GS1_VOC_BASE: Final = "https://gs1.org/voc/"


def _terms(text: str) -> frozenset[str]:
    return frozenset(text.split())


# CBV 2.0 section 7 (and the cbv-context-*.jsonld files that EPCIS 2.0 JSON-LD documents use).
BIZ_STEPS: Final = _terms(
    """
    accepting arriving assembling collecting commissioning consigning creating_class_instance
    cycle_counting decommissioning departing destroying disassembling dispensing encoding
    entering_exiting holding inspecting installing killing loading other packing picking
    receiving removing repackaging repairing replacing reserving retail_selling sampling
    sensor_reporting shipping staging_outbound stock_taking stocking storing transporting
    unloading unpacking void_shipping
    """
)
DISPOSITIONS: Final = _terms(
    """
    active available completeness_inferred completeness_verified conformant container_closed
    container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit
    inactive mismatch_class mismatch_instance mismatch_quantity needs_replacement
    no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved
    retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown
    """
)
BIZ_TRANSACTION_TYPES: Final = _terms("bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt")
SOURCE_DEST_TYPES: Final = _terms("owning_party possessing_party location")
ERROR_REASONS: Final = _terms("did_not_occur incorrect_data")
COMPONENTS: Final = _terms(
    """
    x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle easting
    northing latitude longitude altitude
    """
)
# GS1 Web Vocabulary (gs1-context-measurement-type.jsonld, gs1-context-sensor-alert-type.jsonld).
MEASUREMENT_TYPES: Final = _terms(
    """
    AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Altitude AmountOfSubstance
    AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum AngularVelocity Area
    Capacitance Conductance Conductivity Count Density Dimensionless DoseEquivalent
    DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent ElectricCurrentDensity
    ElectricFieldStrength Energy Exposure Force Frequency Illuminance Inductance Irradiance
    KinematicViscosity Length LinearMomentum Luminance LuminousFlux LuminousIntensity MagneticFlux
    MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate
    MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume Power
    Pressure RadiantFlux RadiantIntensity Radioactivity RelativeHumidity Resistance Resistivity
    SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque Voltage
    Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber
    """
)
SENSOR_ALERT_TYPES: Final = _terms("ALARM_CONDITION ERROR_CONDITION")


@dataclass(frozen=True)
class Vocabulary:
    """One vocabulary: its terms, what to call it in messages, and its spelled-out forms."""

    terms: frozenset[str]
    label: str  # for messages: "CBV bizStep"
    curie_prefix: str  # "cbv:BizStep-"; the Web URI is the CURIE with the prefix expanded
    urn_prefix: str | None  # "urn:epcglobal:cbv:bizstep:"; None where CBV 1.x had no URN form

    @property
    def web_prefix(self) -> str:
        prefix, _, rest = self.curie_prefix.partition(":")
        return (CBV_BASE if prefix == "cbv" else GS1_VOC_BASE) + rest


VOCABULARIES: Final[Mapping[Kind, Vocabulary]] = {
    "bizStep": Vocabulary(BIZ_STEPS, "CBV bizStep", "cbv:BizStep-", "urn:epcglobal:cbv:bizstep:"),
    "disposition": Vocabulary(DISPOSITIONS, "CBV disposition", "cbv:Disp-", "urn:epcglobal:cbv:disp:"),
    "bizTransactionType": Vocabulary(
        BIZ_TRANSACTION_TYPES, "CBV business transaction type", "cbv:BTT-", "urn:epcglobal:cbv:btt:"
    ),
    "sourceDestType": Vocabulary(
        SOURCE_DEST_TYPES, "CBV source/destination type", "cbv:SDT-", "urn:epcglobal:cbv:sdt:"
    ),
    "errorReason": Vocabulary(ERROR_REASONS, "CBV error reason", "cbv:ER-", "urn:epcglobal:cbv:er:"),
    "component": Vocabulary(COMPONENTS, "CBV sensor component", "cbv:Comp-", None),
    "measurementType": Vocabulary(MEASUREMENT_TYPES, "GS1 measurement type", "gs1:", None),
    "sensorAlertType": Vocabulary(SENSOR_ALERT_TYPES, "GS1 sensor alert type", "gs1:", None),
}


def vocabulary(kind: Kind) -> Vocabulary:
    """The vocabulary called ``kind``; ValueError for a name that is not one (a caller's bug)."""
    try:
        return VOCABULARIES[kind]
    except KeyError:
        raise ValueError(f"unknown vocabulary kind {kind!r}; expected one of {sorted(VOCABULARIES)}") from None


def normalise(kind: Kind, value: object) -> str | None:
    """The bare standard term that ``value`` spells, or None if it is not a standard term.

    Accepts the bare term, the CBV 1.x URN (its ``urn:epcglobal:cbv`` part in any case, as URN
    namespace identifiers are case-insensitive), the Web URI (``https`` only, as GS1 publishes
    it) and the CURIE. The term itself is case-sensitive: ``Shipping`` is not ``shipping``.
    """
    if not isinstance(value, str):
        vocabulary(kind)  # still refuse an unknown kind
        return None  # callers pass raw JSON values
    return _normalise(kind, value)


@functools.lru_cache(maxsize=4096)  # pure, and events repeat a handful of values
def _normalise(kind: Kind, value: str) -> str | None:
    vocab = vocabulary(kind)
    candidates = [value]
    for prefix in (vocab.curie_prefix, vocab.web_prefix):
        if value.startswith(prefix):
            candidates.append(value[len(prefix) :])
    if vocab.urn_prefix is not None and value[: len(vocab.urn_prefix)].lower() == vocab.urn_prefix:
        candidates.append(value[len(vocab.urn_prefix) :])
    # The bare term is tried first; prefixes never overlap a term, so at most one form matches.
    return next((term for term in candidates if term in vocab.terms), None)


def web_uri(kind: Kind, short: str) -> str:
    """The Web URI of standard term ``short``: ``web_uri("bizStep", "shipping")`` ->
    ``https://ref.gs1.org/cbv/BizStep-shipping``. ValueError if ``short`` is not standard."""
    vocab = vocabulary(kind)
    if short not in vocab.terms:
        raise ValueError(f"not a standard {vocab.label}: {short!r}")
    return vocab.web_prefix + short
