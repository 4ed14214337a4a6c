"""Built-in transformers for third-party payloads (spec/etl.md §0: BUILT-IN-4 GTM server, BUILT-IN-5 Sensors
Data). They produce the same event rows as the Clickstream SDK transformer (`etl.transform`), so the job derives
user_v2, item_v2 and session from them the same way."""

# The plugin registry imports these modules and they subclass its base classes: loading it first keeps either
# import order working.
from etl import plugins as _plugins  # noqa: F401
