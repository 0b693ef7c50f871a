"""`statewright bench`: load a running stack and compare it with a same-run baseline. Needs
the `bench` extra (`pip install '.[bench]'`) for plotting."""
