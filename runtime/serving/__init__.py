"""A local SageMaker-compatible model server: `GET /ping`, `POST /invocations`, fault injection."""
