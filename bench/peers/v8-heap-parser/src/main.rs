//! Peer benchmark: v8-heap-parser 1.1.0 (serde_json into petgraph) doing the
//! same job as `leakscope summary`: parse, retained sizes, class groups.
fn main() {
    let path = std::env::args().nth(1).expect("usage: v8-heap-parser-bench FILE");
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path).expect("open"));
    let graph = v8_heap_parser::decode_reader(file).expect("parse");
    let groups = graph.get_class_groups(false);
    let top = groups.iter().max_by_key(|g| g.retained_size).expect("a class");
    println!("{} classes; largest retains {} bytes", groups.len(), top.retained_size);
}
