"""Side effects only. Each activity is idempotent, so a retry never applies twice."""
