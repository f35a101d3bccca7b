"""The delta builder: raw Palo Alto traffic of one mini-batch -> per-role delta rows."""
