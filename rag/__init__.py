"""zhaojing (照镜): drafting and critique of 对照检查材料, offline first."""

from rag.privacy import disable_telemetry

disable_telemetry()

__version__ = "0.1.0"
