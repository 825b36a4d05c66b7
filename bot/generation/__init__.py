"""Generation: checkpoint files, the TF sampling graph, the batched sampler, and the refill step."""
