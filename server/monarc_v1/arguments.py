"""The JSON-body arguments of the two GET listings, as the real service declares them
(order matters: the first failing argument is the one reported)."""
from __future__ import annotations

from .processors import PROCESSORS
from .reqparse import Argument
from .values import boolean, date_from_iso8601, uuid_type

TYPES = ("risk", "vulnerability", "threat", "cartography", "compliance")
DATE_FROM = "The date of the stats must be bigger or equal than this value."
DATE_TO = "The date of the stats must be smaller or equal than this value."
ANRS = "List of the anrs' uuids to filter by."

LIST_STATS = (
    Argument("anr", uuid_type, "The ANR UUID related to this stats."),
    Argument("type", str, "The type of the stats.", required=True, choices=TYPES),
    Argument("group_by_anr", int, "If the result should be grouped by anr or not.", default=1, choices=(0, 1)),
    Argument("date_from", date_from_iso8601, DATE_FROM),
    Argument("date_to", date_from_iso8601, DATE_TO),
    Argument("anrs", list, ANRS),
    Argument("get_last", boolean, "Specify that result should compose only the last records in the "
             "results set for each anr. Dates filters are ignored in this case."),
    Argument("offset", int, "Start position", default=0),
    Argument("limit", int, "Limit of records", default=0),
)

PROCESSED = (
    Argument("type", str, "The type of the stats.", required=True, choices=TYPES),
    Argument("processor", str, "The processor to apply to a list of stats.", required=True,
             choices=tuple(PROCESSORS)),
    Argument("processor_params", dict, "Arguments passed to the processor.", default={}),
    Argument("anrs", list, ANRS),
    Argument("date_from", date_from_iso8601, DATE_FROM),
    Argument("date_to", date_from_iso8601, DATE_TO),
    Argument("local_stats_only", int, "Only on local stats", default=0, choices=(0, 1)),
)

CREATE_CLIENT = (
    Argument("name", str, "The name of the client to create.", required=True),
    Argument("is_sharing_enabled", bool, "Specify if the sharing of data is enabled.", required=True),
    Argument("token", str, "The token of the client to create.", required=True),
)
