//! SSE parsing throughput: a recorded Gemini stream (thought, text deltas, a signed function
//! call) repeated to a few MiB, fed in 16 KiB reads as a socket would deliver it.
//!
//! `cargo bench -p crm-agent --bench sse`; under `cargo test --benches` each runs once.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crm_agent::model::gemini::decode_stream_item;
use crm_agent::model::gemini::sse::SseParser;

fn body() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini/rust-genai_yakbak_gemini_tool_stream.sse");
    let one = std::fs::read(path).expect("fixture");
    let copies = (4 << 20) / one.len() + 1;
    one.repeat(copies)
}

fn parse(body: &[u8], decode: bool) -> usize {
    let mut parser = SseParser::new();
    let mut items = Vec::new();
    let mut chunks = 0;
    for read in body.chunks(16 * 1024) {
        parser.feed(read, &mut items);
        if decode {
            chunks += items
                .drain(..)
                .map(|item| decode_stream_item(item).expect("valid chunk").candidates.len())
                .sum::<usize>();
        } else {
            chunks += items.len();
            items.clear();
        }
    }
    parser.finish(&mut items);
    chunks + items.len()
}

fn sse(c: &mut Criterion) {
    let body = body();
    let mut group = c.benchmark_group("sse");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("frame (SSE events only)", |b| b.iter(|| parse(&body, false)));
    group.bench_function("frame + decode chunks into wire types", |b| b.iter(|| parse(&body, true)));
    group.finish();
}

criterion_group!(benches, sse);
criterion_main!(benches);
