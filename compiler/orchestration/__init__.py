"""The orchestration of one environment, built as data.

- `names`: flow keys, resource names and ARNs, `ndrc.yaml` orchestration settings;
- `flows`: the SageMaker pipelines as tables (parameters, steps, the jobs they run);
- `jsonata`: the JSONata expressions (text files under `expressions/`) and their compile-time values;
- `asl`: small typed constructors of Amazon States Language states;
- `stepfunctions`, `sagemaker`: the state machine and pipeline definitions as Python dicts;
- `limits`: AWS's documented limits on what a pipeline hands to SageMaker, checked at compile time;
- `images`: image URIs, explicit or resolved from the SageMaker SDK's image tables;
- `canonical`: the one JSON writer of every compiled document;
- `bundle`: the content-addressed runtime code the pipeline steps run;
- `graph`: Mermaid diagrams of the compiled definitions.

Nothing here depends on the projects: the artifacts of a 1,000-project workspace are the same few files
as those of a 1-project one. `compiler.targets` turns these documents into artifacts.
"""
