"""apitwin: stand-in servers and a conformance kit for five real HTTP APIs."""
from pathlib import Path

__version__ = "0.1.0"

# The checkout's folders; apitwin is installed editable, so these are the working tree.
ROOT = Path(__file__).resolve().parent.parent
OPENAPI_DIR = ROOT / "openapi"
FIXTURES_DIR = ROOT / "fixtures"
