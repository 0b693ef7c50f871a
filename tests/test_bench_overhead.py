"""The overhead bench's parts: the span receiver counts what a real OTLP exporter sends, and
the summary sets each configuration against `off`."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from statewright.bench.overhead import Run, environment, summary
from statewright.bench.span_sink import SpanSink


def test_the_sink_counts_the_spans_a_real_exporter_sends() -> None:
    with SpanSink() as sink:
        provider = TracerProvider(resource=Resource.create({"service.name": "sink-test"}))
        exporter = OTLPSpanExporter(endpoint=f"{sink.endpoint}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
        tracer = provider.get_tracer("test")
        for index in range(7):
            with tracer.start_as_current_span(f"outer {index}"), tracer.start_span("inner"):
                pass
        provider.shutdown()  # flushes: the export is acknowledged before this returns
        assert sink.spans == 14


def test_each_configuration_sets_what_it_names(tmp_path: Path) -> None:
    with SpanSink() as sink:
        off = environment("off", tmp_path, sink)
        metrics = environment("metrics", tmp_path, sink)
        traced = environment("metrics+traces", tmp_path, sink)
    assert off["STATEWRIGHT_METRICS"] == "off" and "OTEL_EXPORTER_OTLP_ENDPOINT" not in off
    assert metrics["STATEWRIGHT_METRICS"] == "on"
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in metrics
    assert traced["OTEL_EXPORTER_OTLP_ENDPOINT"] == sink.endpoint


def test_the_summary_sets_each_median_against_off() -> None:
    def run(config: str, per_s: float) -> Run:
        return Run(config, 1, per_s, 60.0, 20.0, 8.0, 0)

    runs = [run("off", v) for v in (50.0, 40.0, 60.0)]
    runs += [run("metrics", v) for v in (48.0, 47.0, 49.0)]
    runs += [run("metrics+traces", v) for v in (30.0, 45.0, 40.0)]
    result = summary(runs)
    assert result["off"]["median"] == 50.0 and result["off"]["cost_vs_off_percent"] == 0.0
    assert result["metrics"]["cost_vs_off_percent"] == 4.0
    assert result["metrics+traces"]["cost_vs_off_percent"] == 20.0
    assert result["metrics+traces"]["spread"] == [30.0, 45.0]
