//! Merkle trees over document hashes, as in RFC 6962 (Certificate
//! Transparency) section 2.1: leaves and inner nodes are hashed with
//! different prefixes, so no inner node can pass for a leaf.
//!
//! A batch confirmation shows one root for many documents; each document's
//! signature carries its inclusion path, which anyone can check against the
//! root with [`root_from_path`].

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(document_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(document_hash);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) of RFC 6962 over the leaves' document hashes; `None` when empty.
pub fn root(document_hashes: &[Hash]) -> Option<Hash> {
    match document_hashes {
        [] => None,
        [one] => Some(leaf_hash(one)),
        many => {
            let k = split(many.len());
            Some(node_hash(&root(&many[..k])?, &root(&many[k..])?))
        }
    }
}

/// PATH(m, D[n]): the sibling hashes from leaf `index` up to the root.
pub fn inclusion_path(document_hashes: &[Hash], index: usize) -> Option<Vec<Hash>> {
    let n = document_hashes.len();
    if index >= n {
        return None;
    }
    if n == 1 {
        return Some(Vec::new());
    }
    let k = split(n);
    let (mut path, sibling) = if index < k {
        (inclusion_path(&document_hashes[..k], index)?, root(&document_hashes[k..])?)
    } else {
        (inclusion_path(&document_hashes[k..], index - k)?, root(&document_hashes[..k])?)
    };
    path.push(sibling);
    Some(path)
}

/// Recomputes the root from one document hash, its index, the tree size and
/// its path (RFC 9162 section 2.1.3.2); `None` if the path has the wrong length.
pub fn root_from_path(document_hash: &Hash, index: usize, size: usize, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = leaf_hash(document_hash);
    for p in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(n: usize) -> Vec<Hash> {
        (0..n).map(|i| Sha256::digest(i.to_be_bytes()).into()).collect()
    }

    #[test]
    fn every_path_of_every_size_leads_to_the_root() {
        for n in 1..=20 {
            let d = docs(n);
            let r = root(&d).unwrap();
            for (i, leaf) in d.iter().enumerate() {
                let path = inclusion_path(&d, i).unwrap();
                assert_eq!(root_from_path(leaf, i, n, &path), Some(r), "n={n} i={i}");
                // Another document or another index does not lead there.
                if n > 1 {
                    assert_ne!(root_from_path(&d[(i + 1) % n], i, n, &path), Some(r), "n={n} i={i}");
                    assert_ne!(root_from_path(leaf, (i + 1) % n, n, &path), Some(r), "n={n} i={i}");
                }
            }
            assert_eq!(inclusion_path(&d, n), None);
        }
        assert_eq!(root(&[]), None);
    }

    #[test]
    fn the_tree_shape_is_rfc_6962() {
        let d = docs(3);
        let expected = node_hash(&node_hash(&leaf_hash(&d[0]), &leaf_hash(&d[1])), &leaf_hash(&d[2]));
        assert_eq!(root(&d), Some(expected));
        assert_eq!(inclusion_path(&d, 2), Some(vec![node_hash(&leaf_hash(&d[0]), &leaf_hash(&d[1]))]));
        // An inner node cannot pass for a leaf.
        assert_ne!(leaf_hash(&d[0]), node_hash(&d[0], &d[0]));
    }
}
