"""The web front end: the Gradio page, its rendering, password, host check and uploads, the OpenAI-compatible API."""
