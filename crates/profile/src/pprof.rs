//! pprof output (`perftools.profiles.Profile`, gzipped), readable by
//! `go tool pprof`, Pyroscope and Grafana. Only the messages and fields a
//! heap profile needs are declared; field numbers follow `profile.proto`.

use std::collections::HashMap;
use std::io::Write;

use prost::Message;

use crate::SamplingProfile;

#[derive(Clone, PartialEq, Message)]
struct Profile {
    #[prost(message, repeated, tag = "1")]
    sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    sample: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    string_table: Vec<String>,
    #[prost(int64, tag = "9")]
    time_nanos: i64,
    #[prost(message, optional, tag = "11")]
    period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    period: i64,
    #[prost(int64, tag = "14")]
    default_sample_type: i64,
}

#[derive(Clone, PartialEq, Message)]
struct ValueType {
    #[prost(int64, tag = "1")]
    r#type: i64,
    #[prost(int64, tag = "2")]
    unit: i64,
}

#[derive(Clone, PartialEq, Message)]
struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    value: Vec<i64>,
}

#[derive(Clone, PartialEq, Message)]
struct Location {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(message, repeated, tag = "4")]
    line: Vec<Line>,
}

#[derive(Clone, PartialEq, Message)]
struct Line {
    #[prost(uint64, tag = "1")]
    function_id: u64,
    #[prost(int64, tag = "2")]
    line: i64,
    #[prost(int64, tag = "3")]
    column: i64,
}

#[derive(Clone, PartialEq, Message)]
struct Function {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(int64, tag = "2")]
    name: i64,
    #[prost(int64, tag = "3")]
    system_name: i64,
    #[prost(int64, tag = "4")]
    filename: i64,
}

#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Strings {
        let mut s = Strings::default();
        s.intern(""); // index 0 must be the empty string
        s
    }

    fn intern(&mut self, text: &str) -> i64 {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(text.to_owned());
        self.index.insert(text.to_owned(), i);
        i
    }
}

/// Encodes the profile as gzipped pprof with two sample types,
/// `objects/count` and `space/bytes`, one sample per tree node that holds
/// bytes. `interval` is the sampling interval in bytes.
pub fn to_pprof_gz(
    profile: &SamplingProfile,
    interval: u64,
    time_nanos: i64,
) -> std::io::Result<Vec<u8>> {
    let mut strings = Strings::new();
    let mut functions: Vec<Function> = Vec::new();
    let mut function_ids: HashMap<(String, String), u64> = HashMap::new();
    let mut locations: Vec<Location> = Vec::new();
    let mut location_of_node: HashMap<u64, u64> = HashMap::new();
    let mut samples = Vec::new();
    let counts = profile.sample_counts();
    profile.walk(|visit| {
        let node = visit.node;
        let frame = &node.call_frame;
        let name = if frame.function_name.is_empty() {
            "(anonymous)"
        } else {
            &frame.function_name
        };
        // The source the developer edits, when a map gave it.
        let (file, line, column) = match &frame.original {
            Some(o) => (o.source.as_str(), o.line as i64, o.column as i64),
            None => (frame.url.as_str(), frame.line_number, frame.column_number),
        };
        let key = (name.to_owned(), file.to_owned());
        let function_id = *function_ids.entry(key).or_insert_with(|| {
            let id = functions.len() as u64 + 1;
            let name = strings.intern(name);
            functions.push(Function {
                id,
                name,
                system_name: name,
                filename: strings.intern(file),
            });
            id
        });
        let location_id = locations.len() as u64 + 1;
        locations.push(Location {
            id: location_id,
            line: vec![Line {
                function_id,
                line: line + 1,
                column: column + 1,
            }],
        });
        location_of_node.insert(node.id, location_id);
        if node.self_size > 0 {
            samples.push(Sample {
                // Leaf first, as pprof wants.
                location_id: visit
                    .stack
                    .iter()
                    .rev()
                    .map(|n| location_of_node[&n.id])
                    .collect(),
                value: vec![
                    counts.get(&node.id).copied().unwrap_or(0) as i64,
                    node.self_size as i64,
                ],
            });
        }
    });
    let objects = strings.intern("objects");
    let count = strings.intern("count");
    let space = strings.intern("space");
    let bytes = strings.intern("bytes");
    let message = Profile {
        sample_type: vec![
            ValueType {
                r#type: objects,
                unit: count,
            },
            ValueType {
                r#type: space,
                unit: bytes,
            },
        ],
        sample: samples,
        location: locations,
        function: functions,
        string_table: strings.table,
        time_nanos,
        period_type: Some(ValueType {
            r#type: space,
            unit: bytes,
        }),
        period: interval as i64,
        default_sample_type: space,
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&message.encode_to_vec())?;
    gz.finish()
}
