"""What runs in the cloud: spec loading, orchestration helpers and the Spark builders.

Importing this package (or `runtime.config`, `runtime.orchestration`, `runtime.operator_catalog`,
`runtime.storage`, `devtools.traffic`) never imports pyspark; only the builders and
`runtime.spark` do, so the compiler can use the plain-data parts.
"""
