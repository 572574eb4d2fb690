//! Reading gzip (RFC 1952): Amazon compresses feed processing reports
//! (`compressionAlgorithm: GZIP`) and a document URL may answer with
//! `content-encoding: gzip`. miniz_oxide inflates the DEFLATE data; this module
//! reads the container around it and checks what the data claims: each member's
//! CRC-32 and length, and a ceiling on what it may grow to.

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// Why a body could not be read as gzip. Reasons name no byte of the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GzipError {
    /// The body does not start with gzip's magic number and method.
    #[error("not gzip data")]
    NotGzip,
    /// The header sets a flag RFC 1952 reserves.
    #[error("the gzip header sets reserved flags")]
    ReservedFlags,
    /// The data ends before a header, the compressed data or a trailer does.
    #[error("the gzip data ends early")]
    Truncated,
    /// The compressed data is not valid DEFLATE.
    #[error("the gzip data is corrupt")]
    Corrupt,
    /// The inflated data does not match the trailer's CRC-32 or length.
    #[error("the gzip data fails its checksum")]
    Checksum,
    /// The data would inflate past the ceiling (a gzip bomb, or a report no
    /// store produces).
    #[error("the gzip data inflates past {limit} bytes")]
    TooLarge {
        /// The ceiling, in bytes.
        limit: usize,
    },
    /// Bytes follow the last member that are not another member.
    #[error("bytes follow the gzip data")]
    TrailingBytes,
}

/// gzip's magic number and its one compression method (DEFLATE).
const MAGIC: [u8; 3] = [0x1f, 0x8b, 8];
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED: u8 = 0xe0;
/// Inflated bytes produced per step.
const CHUNK: usize = 32 * 1024;

/// Whether `bytes` start as gzip data does.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC[..2])
}

/// Inflates every member of `bytes` (a gzip file may hold several, read one
/// after another), at most `limit` bytes in all.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, GzipError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    loop {
        let data = skip_header(rest)?;
        let start = out.len();
        let used = inflate_member(data, &mut out, limit)?;
        let trailer = data.get(used..used + 8).ok_or(GzipError::Truncated)?;
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        let member = &out[start..];
        // ISIZE is the length modulo 2^32.
        if crc32(member) != crc || member.len() as u32 != size {
            return Err(GzipError::Checksum);
        }
        rest = &data[used + 8..];
        if rest.is_empty() {
            return Ok(out);
        }
        if !is_gzip(rest) {
            return Err(GzipError::TrailingBytes);
        }
    }
}

/// The bytes after a member's header.
fn skip_header(bytes: &[u8]) -> Result<&[u8], GzipError> {
    if bytes.len() < 10 {
        return Err(if MAGIC[..2].starts_with(bytes) || is_gzip(bytes) {
            GzipError::Truncated
        } else {
            GzipError::NotGzip
        });
    }
    if bytes[..3] != MAGIC {
        return Err(GzipError::NotGzip);
    }
    let flags = bytes[3];
    if flags & RESERVED != 0 {
        return Err(GzipError::ReservedFlags);
    }
    // ID1 ID2 CM FLG MTIME(4) XFL OS
    let mut rest = &bytes[10..];
    if flags & FEXTRA != 0 {
        let length = rest.get(..2).ok_or(GzipError::Truncated)?;
        let length = usize::from(u16::from_le_bytes([length[0], length[1]]));
        rest = rest.get(2 + length..).ok_or(GzipError::Truncated)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(GzipError::Truncated)?;
            rest = &rest[end + 1..];
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..).ok_or(GzipError::Truncated)?;
    }
    Ok(rest)
}

/// Inflates one member's DEFLATE data onto `out`; returns the bytes it used.
fn inflate_member(data: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<usize, GzipError> {
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut chunk = vec![0; CHUNK];
    let mut used = 0;
    loop {
        let step = inflate(&mut state, &data[used..], &mut chunk, MZFlush::None);
        used += step.bytes_consumed;
        if out.len() + step.bytes_written > limit {
            return Err(GzipError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk[..step.bytes_written]);
        match step.status {
            Ok(MZStatus::StreamEnd) => return Ok(used),
            Ok(_) if step.bytes_consumed > 0 || step.bytes_written > 0 => {}
            Ok(_) | Err(MZError::Buf) => return Err(GzipError::Truncated),
            Err(_) => return Err(GzipError::Corrupt),
        }
    }
}

/// CRC-32 as gzip computes it (IEEE 802.3, reflected).
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &byte| {
        CRC_TABLE[usize::from((crc as u8) ^ byte)] ^ (crc >> 8)
    })
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    /// `printf 'hello\n' | gzip -n`: a member as the gzip tool writes it.
    const HELLO: [u8; 26] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
        0xe7, 0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn reads_what_the_gzip_tool_writes() {
        assert_eq!(gunzip(&HELLO, 100).unwrap(), b"hello\n");
        assert!(is_gzip(&HELLO));
        assert!(!is_gzip(b"<?xml"));
    }

    #[test]
    fn the_crc_is_ieee_802_3() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn members_are_read_one_after_another() {
        let two = [HELLO, HELLO].concat();
        assert_eq!(gunzip(&two, 100).unwrap(), b"hello\nhello\n");
        let mut garbage = HELLO.to_vec();
        garbage.extend_from_slice(b"junk");
        assert_eq!(gunzip(&garbage, 100), Err(GzipError::TrailingBytes));
    }

    #[test]
    fn optional_header_fields_are_skipped() {
        // FEXTRA (2 bytes), FNAME "a", FCOMMENT "b", FHCRC.
        let mut member = HELLO[..10].to_vec();
        member[3] = FEXTRA | FNAME | FCOMMENT | FHCRC;
        member.extend_from_slice(&[2, 0, 0xaa, 0xbb, b'a', 0, b'b', 0, 0x12, 0x34]);
        member.extend_from_slice(&HELLO[10..]);
        assert_eq!(gunzip(&member, 100).unwrap(), b"hello\n");
    }

    #[test]
    fn every_damage_is_its_own_error() {
        assert_eq!(gunzip(b"<?xml version", 100), Err(GzipError::NotGzip));
        assert_eq!(gunzip(&[], 100), Err(GzipError::Truncated));
        let mut reserved = HELLO;
        reserved[3] = 0x20;
        assert_eq!(gunzip(&reserved, 100), Err(GzipError::ReservedFlags));
        for cut in [5, 12, HELLO.len() - 3] {
            assert_eq!(
                gunzip(&HELLO[..cut], 100),
                Err(GzipError::Truncated),
                "{cut}"
            );
        }
        let mut flipped = HELLO;
        flipped[19] ^= 0xff;
        assert_eq!(gunzip(&flipped, 100), Err(GzipError::Checksum));
        let mut length = HELLO;
        length[22] = 7;
        assert_eq!(gunzip(&length, 100), Err(GzipError::Checksum));
        // A block type DEFLATE reserves (BTYPE 11).
        let mut corrupt = HELLO;
        corrupt[10] = 0x07;
        assert_eq!(gunzip(&corrupt, 100), Err(GzipError::Corrupt));
    }

    #[test]
    fn a_bomb_stops_at_the_ceiling() {
        // 1 MiB of zeros in about a kilobyte.
        let bomb = testing_gzip(&vec![0; 1 << 20]);
        assert!(bomb.len() < 2_000, "{}", bomb.len());
        assert_eq!(
            gunzip(&bomb, 64 * 1024),
            Err(GzipError::TooLarge { limit: 64 * 1024 })
        );
        assert_eq!(gunzip(&bomb, 1 << 20).unwrap().len(), 1 << 20);
    }

    /// A gzip member of `data` (stored blocks are enough to test the container;
    /// miniz_oxide's own compressor makes the bomb).
    fn testing_gzip(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        out.extend(miniz_oxide::deflate::compress_to_vec(data, 9));
        out.extend_from_slice(&crc32(data).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }
}
