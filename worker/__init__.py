"""The worker process: registers every workflow of the manifest, and its activities."""
