"""The worker process: registers every workflow and activity."""
