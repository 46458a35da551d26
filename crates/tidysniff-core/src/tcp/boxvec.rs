//! A vector that costs one pointer while empty: per-connection lists that are almost always
//! empty (out-of-order segments, seen-ranges above a hole) would otherwise put 24 bytes each in
//! every flow entry, which a packet's prefetch has to bring in.

use core::ops::Deref;

/// `Vec<T>` behind an optional box: 8 bytes when empty, allocated on the first push.
// The box is the point: 8 bytes in the entry instead of a 24-byte empty `Vec`.
#[allow(clippy::box_collection)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BoxVec<T>(Option<Box<Vec<T>>>);

impl<T> Default for BoxVec<T> {
    fn default() -> Self {
        BoxVec(None)
    }
}

impl<T> BoxVec<T> {
    /// The vector, allocated if needed.
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<T> {
        self.0.get_or_insert_with(Default::default)
    }

    /// Replaces the contents (an empty vector frees the box).
    pub(crate) fn set(&mut self, v: Vec<T>) {
        self.0 = if v.is_empty() {
            None
        } else {
            Some(Box::new(v))
        };
    }

    /// Removes and returns the first element; frees the box when it empties.
    pub(crate) fn remove_first(&mut self) -> Option<T> {
        let v = self.0.as_mut()?;
        if v.is_empty() {
            self.0 = None;
            return None;
        }
        let first = v.remove(0);
        if v.is_empty() {
            self.0 = None;
        }
        Some(first)
    }
}

impl<T> Deref for BoxVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], |v| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::BoxVec;

    #[test]
    fn empty_is_one_pointer_and_frees_when_emptied() {
        assert_eq!(core::mem::size_of::<BoxVec<(i64, i64)>>(), 8);
        let mut v = BoxVec::default();
        assert!(v.is_empty());
        v.vec_mut().push(1);
        v.vec_mut().push(2);
        assert_eq!(&*v, &[1, 2]);
        assert_eq!(v.remove_first(), Some(1));
        assert_eq!(v.remove_first(), Some(2));
        assert!(v.0.is_none());
        assert_eq!(v.remove_first(), None);
        v.set(vec![3]);
        assert_eq!(&*v, &[3]);
        v.set(Vec::new());
        assert!(v.0.is_none());
    }
}
