//! One flat column of plain numbers: owned while a snapshot is being read
//! and analysed, or a slice of a memory-mapped analysis cache when the same
//! file is analysed again (see [`crate::cache`]). Both read as `&[T]`, so the
//! analyses and every consumer index a column the same way either way.
#![allow(
    unsafe_code,
    reason = "columns view memory-mapped cache files as typed slices; each use states its SAFETY"
)]

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use bytemuck::Pod;
use memmap2::Mmap;

/// A column of `T`s, owned or mapped from the cache.
pub struct Column<T: Pod> {
    data: Data<T>,
}

enum Data<T> {
    Owned(Vec<T>),
    /// `len` items at `items`, inside `map` and aligned for `T` (checked in
    /// [`Column::mapped`]). The file is never written once renamed into
    /// place, and `map` keeps the mapping alive as long as the column.
    Mapped {
        map: Arc<Mmap>,
        items: *const T,
        len: usize,
    },
}

// SAFETY: a mapped column is an immutable view of read-only memory that its
// `Arc<Mmap>` keeps alive; sharing or sending it is like sharing `&[T]`.
unsafe impl<T: Pod + Sync> Sync for Column<T> {}
unsafe impl<T: Pod + Send + Sync> Send for Column<T> {}

impl<T: Pod> Column<T> {
    /// `len` items at byte `offset` of a mapped cache file, or `None` when
    /// they do not fit in it or are not aligned for `T`.
    pub(crate) fn mapped(map: &Arc<Mmap>, offset: usize, len: usize) -> Option<Self> {
        let bytes = len.checked_mul(size_of::<T>())?;
        let slice = map.get(offset..offset.checked_add(bytes)?)?;
        let items = bytemuck::try_cast_slice::<u8, T>(slice).ok()?.as_ptr();
        Some(Column {
            data: Data::Mapped {
                map: Arc::clone(map),
                items,
                len,
            },
        })
    }

    /// The column as a growable vector, copying it out of the mapping first
    /// if it is mapped (the cache file itself is never written).
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        if let Data::Mapped { .. } = self.data {
            self.data = Data::Owned(self.deref().to_vec());
        }
        match &mut self.data {
            Data::Owned(v) => v,
            Data::Mapped { .. } => unreachable!("just copied out"),
        }
    }

    pub fn into_vec(mut self) -> Vec<T> {
        std::mem::take(self.to_mut())
    }

    /// Whether this column lives in a mapped cache file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.data, Data::Mapped { .. })
    }
}

impl<T: Pod> Deref for Column<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.data {
            Data::Owned(v) => v,
            // SAFETY: `mapped` checked that `len` items at `items` lie in
            // the mapping and are aligned; any bit pattern is a valid `T`
            // (`Pod`); the mapping lives as long as `self` holds `map`.
            Data::Mapped { items, len, .. } => unsafe { std::slice::from_raw_parts(*items, *len) },
        }
    }
}

impl<T: Pod> DerefMut for Column<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.to_mut()
    }
}

impl<T: Pod> From<Vec<T>> for Column<T> {
    fn from(v: Vec<T>) -> Self {
        Column {
            data: Data::Owned(v),
        }
    }
}

impl<T: Pod> Default for Column<T> {
    fn default() -> Self {
        Vec::new().into()
    }
}

impl<T: Pod> Clone for Column<T> {
    fn clone(&self) -> Self {
        match &self.data {
            Data::Owned(v) => v.clone().into(),
            Data::Mapped { map, items, len } => Column {
                data: Data::Mapped {
                    map: Arc::clone(map),
                    items: *items,
                    len: *len,
                },
            },
        }
    }
}

impl<T: Pod> fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_mapped() { "mapped" } else { "owned" };
        write!(f, "Column({} × {kind})", self.len())
    }
}

impl<'a, T: Pod> IntoIterator for &'a Column<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
