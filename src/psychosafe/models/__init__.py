"""Models: the embedded SmolLM2 model and model-spec resolution."""
