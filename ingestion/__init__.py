"""The collector: receives Clickstream SDK requests and writes raw records durably to a sink."""
