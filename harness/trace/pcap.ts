/**
 * Reads the classic libpcap file format that `tcpdump -w` writes: the global header (byte order, timestamp
 * resolution, link type) and each record's timestamp and captured bytes. Pure.
 *
 * @module
 */

/** One captured packet. */
export interface PcapRecord {
  /** Capture time in microseconds since the epoch, with the file's precision (nanosecond files keep theirs). */
  readonly tsUs: number;
  /** The length on the wire (the capture may be shorter: the snap length). */
  readonly origLen: number;
  readonly data: Uint8Array;
}

/** A pcap file: its link type and records. */
export interface Pcap {
  /** 1: Ethernet, 101/12: raw IP (a TUN device such as flannel0), 113: Linux cooked. */
  readonly linkType: number;
  readonly records: readonly PcapRecord[];
}

/**
 * Parses a pcap file. A truncated last record (tcpdump stopped mid-write) is dropped, not an error.
 *
 * @throws {Error} when the bytes are not a pcap file
 */
export function parsePcap(bytes: Uint8Array): Pcap {
  if (bytes.length < 24) throw new Error(`not a pcap file: ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  let little: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    little = true;
    nano = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    little = false;
    nano = magic === 0x4d3cb2a1;
  } else throw new Error(`not a pcap file: magic 0x${magic.toString(16)}`);
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const records: PcapRecord[] = [];
  for (let off = 24; off + 16 <= bytes.length;) {
    const sec = view.getUint32(off, little);
    const frac = view.getUint32(off + 4, little);
    const inclLen = view.getUint32(off + 8, little);
    const origLen = view.getUint32(off + 12, little);
    if (off + 16 + inclLen > bytes.length) break;
    records.push({
      tsUs: sec * 1e6 + (nano ? frac / 1000 : frac),
      origLen,
      data: bytes.subarray(off + 16, off + 16 + inclLen),
    });
    off += 16 + inclLen;
  }
  return { linkType, records };
}
