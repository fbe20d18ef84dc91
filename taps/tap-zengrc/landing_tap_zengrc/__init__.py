"""Singer tap for ZenGRC (Reciprocity / RiskOptics) API v2."""
