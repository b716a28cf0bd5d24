//! The heap graph in structure-of-arrays form: one flat column per node or
//! edge field, indexed by node ordinal / edge ordinal, adjacency in CSR form
//! (`first_edge`). Nothing here allocates per node.

use crate::column::Column;
use crate::strings::StringTable;

/// Sentinel for a node or edge type the snapshot's meta does not define.
pub const NO_TYPE: u8 = u8::MAX;

/// Bits of an edge's packed word that hold its type: V8 defines 7 edge types.
pub const EDGE_TYPE_BITS: u32 = 4;

/// The most nodes a graph can have (about 20 GB of snapshot), and the mask
/// of a packed edge word's target.
pub const MAX_NODES: u32 = (1 << (32 - EDGE_TYPE_BITS)) - 1;

/// An edge's packed word: its target and type (see [`Graph::edge_to`]).
#[inline]
pub fn pack_edge(to: u32, edge_type: u8) -> u32 {
    debug_assert!(to <= MAX_NODES && u32::from(edge_type) < 1 << EDGE_TYPE_BITS);
    to | (edge_type as u32) << (32 - EDGE_TYPE_BITS)
}

/// Node type codes, looked up by name in the snapshot's meta (producers
/// append new types over time, so codes are never hard-coded).
#[derive(Debug, Clone, Copy)]
pub struct NodeTypes {
    pub hidden: u8,
    pub array: u8,
    pub string: u8,
    pub object: u8,
    pub code: u8,
    pub closure: u8,
    pub regexp: u8,
    pub number: u8,
    pub native: u8,
    pub synthetic: u8,
    pub cons_string: u8,
    pub sliced_string: u8,
}

/// Edge type codes, looked up by name like [`NodeTypes`].
#[derive(Debug, Clone, Copy)]
pub struct EdgeTypes {
    pub context: u8,
    pub element: u8,
    pub property: u8,
    pub internal: u8,
    pub hidden: u8,
    pub shortcut: u8,
    pub weak: u8,
}

fn code_of(names: &[String], name: &str) -> u8 {
    names
        .iter()
        .position(|n| n == name)
        .map_or(NO_TYPE, |i| i as u8)
}

impl NodeTypes {
    pub fn from_names(names: &[String]) -> Self {
        NodeTypes {
            hidden: code_of(names, "hidden"),
            array: code_of(names, "array"),
            string: code_of(names, "string"),
            object: code_of(names, "object"),
            code: code_of(names, "code"),
            closure: code_of(names, "closure"),
            regexp: code_of(names, "regexp"),
            number: code_of(names, "number"),
            native: code_of(names, "native"),
            synthetic: code_of(names, "synthetic"),
            cons_string: code_of(names, "concatenated string"),
            sliced_string: code_of(names, "sliced string"),
        }
    }
}

impl EdgeTypes {
    pub fn from_names(names: &[String]) -> Self {
        EdgeTypes {
            context: code_of(names, "context"),
            element: code_of(names, "element"),
            property: code_of(names, "property"),
            internal: code_of(names, "internal"),
            hidden: code_of(names, "hidden"),
            shortcut: code_of(names, "shortcut"),
            weak: code_of(names, "weak"),
        }
    }
}

/// No types known: every code is [`NO_TYPE`].
impl Default for NodeTypes {
    fn default() -> Self {
        NodeTypes::from_names(&[])
    }
}

impl Default for EdgeTypes {
    fn default() -> Self {
        EdgeTypes::from_names(&[])
    }
}

/// A source location of a node (an object's constructor), 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct Location {
    pub node: u32,
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// The parsed heap graph. Columns are owned while the file is read and
/// analysed, or mapped from the analysis cache.
#[derive(Debug, Default)]
pub struct Graph {
    pub node_type_names: Vec<String>,
    pub edge_type_names: Vec<String>,
    /// `node_type_names` resolved once (see [`Graph::set_type_names`]).
    pub(crate) node_kinds: NodeTypes,
    pub(crate) edge_kinds: EdgeTypes,
    pub node_type: Column<u8>,
    pub node_name: Column<u32>,
    pub node_id: Column<u32>,
    /// Self sizes. After analysis these are DevTools' shallow sizes (owned
    /// arrays and hidden objects folded into their owner).
    pub self_size: Column<u32>,
    /// CSR offsets: node `i` owns edges `first_edge[i]..first_edge[i+1]`.
    pub first_edge: Column<u32>,
    /// Allocation trace node per node (0: none); empty when the snapshot has
    /// none at all (no such field, or every one 0).
    pub trace_node_id: Column<u32>,
    /// DOM link state per node (0 unknown, 1 attached, 2 detached); empty
    /// when the snapshot's layout has no `detachedness` field.
    pub detachedness: Vec<u8>,
    /// String index for named edges, plain index for `element`/`hidden` edges.
    pub edge_name: Column<u32>,
    /// Each edge's target node ordinal (low bits) and type code (top
    /// [`EDGE_TYPE_BITS`] bits): one word per edge rather than five bytes,
    /// which matters at the analysis' memory peak. Read through
    /// [`Graph::edge_to`] and [`Graph::edge_type`].
    pub(crate) edge_target: Column<u32>,
    pub root: u32,
    /// Constructor locations, sorted by node ordinal, at most one per node.
    pub locations: Column<Location>,
}

impl Graph {
    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edge_target.len()
    }

    /// The node edge `e` points to.
    #[inline]
    pub fn edge_to(&self, e: usize) -> u32 {
        self.edge_target[e] & MAX_NODES
    }

    /// Edge `e`'s type code (an index into `edge_type_names`).
    #[inline]
    pub fn edge_type(&self, e: usize) -> u8 {
        (self.edge_target[e] >> (32 - EDGE_TYPE_BITS)) as u8
    }

    /// Every edge's target, in edge order.
    pub fn edge_targets(&self) -> impl Iterator<Item = u32> + '_ {
        self.edge_target.iter().map(|&t| t & MAX_NODES)
    }

    pub fn set_type_names(&mut self, nodes: Vec<String>, edges: Vec<String>) {
        self.node_kinds = NodeTypes::from_names(&nodes);
        self.edge_kinds = EdgeTypes::from_names(&edges);
        self.node_type_names = nodes;
        self.edge_type_names = edges;
    }

    #[inline]
    pub fn node_types(&self) -> NodeTypes {
        self.node_kinds
    }

    #[inline]
    pub fn edge_types(&self) -> EdgeTypes {
        self.edge_kinds
    }

    #[inline]
    pub fn edges(&self, node: u32) -> std::ops::Range<usize> {
        self.first_edge[node as usize] as usize..self.first_edge[node as usize + 1] as usize
    }

    /// Whether edges of this type carry a string name (all but `element` and `hidden`).
    #[inline]
    pub fn edge_has_string_name(&self, edge: usize) -> bool {
        let t = self.edge_type(edge);
        let et = self.edge_types();
        t != et.element && t != et.hidden
    }

    /// The node whose edge list contains `edge` (binary search on the CSR offsets).
    pub fn edge_source(&self, edge: usize) -> u32 {
        let e = edge as u32;
        (self.first_edge.partition_point(|&f| f <= e) - 1) as u32
    }

    pub fn type_name(&self, node: u32) -> &str {
        self.node_type_names
            .get(self.node_type[node as usize] as usize)
            .map_or("", String::as_str)
    }

    pub fn edge_type_name(&self, edge: usize) -> &str {
        self.edge_type_names
            .get(self.edge_type(edge) as usize)
            .map_or("", String::as_str)
    }

    /// The edge's name as DevTools prints it: the string for named edges, the
    /// number for indexed ones; numeric shortcut names become numbers.
    pub fn edge_name_text(&self, edge: usize, strings: &StringTable) -> String {
        if self.edge_has_string_name(edge) {
            strings.get(self.edge_name[edge]).to_owned()
        } else {
            self.edge_name[edge].to_string()
        }
    }
}
