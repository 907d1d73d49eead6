/**
 * The `bridge` link kind: a few `IFLA_BR_*` settings on creation and their read-back.
 *
 * Quirk: the kernel stores bridge times in centiseconds (USER_HZ) on the wire: `ageing_time` 30000 = 300 s.
 *
 * @module
 */
import type { Attrs, AttrWriter } from "../attrs.ts";
import {
  IFLA_BR_AGEING_TIME,
  IFLA_BR_FORWARD_DELAY,
  IFLA_BR_STP_STATE,
  IFLA_BR_VLAN_FILTERING,
} from "../consts.ts";

/** Bridge settings; absent fields keep the kernel defaults. */
export interface BridgeSpec {
  /** STP on or off. */
  readonly stp?: boolean;
  /** FDB ageing time in centiseconds. */
  readonly ageingTime?: number;
  /** Forward delay in centiseconds. */
  readonly forwardDelay?: number;
  readonly vlanFiltering?: boolean;
}

/** A bridge's settings as read back. */
export interface BridgeInfo {
  readonly stp: boolean;
  readonly ageingTime: number | undefined;
  readonly forwardDelay: number | undefined;
  readonly vlanFiltering: boolean;
}

/**
 * Writes the bridge `IFLA_INFO_DATA` children.
 *
 * @example
 * ```ts
 * import { AttrWriter } from "../attrs.ts";
 * import { encodeBridgeData } from "./bridge.ts";
 * encodeBridgeData(new AttrWriter(), { stp: false, ageingTime: 30000 });
 * ```
 */
export function encodeBridgeData(w: AttrWriter, s: BridgeSpec): void {
  if (s.forwardDelay !== undefined) w.u32(IFLA_BR_FORWARD_DELAY, s.forwardDelay);
  if (s.ageingTime !== undefined) w.u32(IFLA_BR_AGEING_TIME, s.ageingTime);
  if (s.stp !== undefined) w.u32(IFLA_BR_STP_STATE, s.stp ? 1 : 0);
  if (s.vlanFiltering !== undefined) w.u8(IFLA_BR_VLAN_FILTERING, s.vlanFiltering ? 1 : 0);
}

/**
 * Reads bridge `IFLA_INFO_DATA`.
 *
 * @example
 * ```ts
 * import { AttrWriter, Attrs } from "../attrs.ts";
 * import { decodeBridgeData, encodeBridgeData } from "./bridge.ts";
 * const w = new AttrWriter();
 * encodeBridgeData(w, { stp: true });
 * decodeBridgeData(new Attrs(w.finish())).stp; // true
 * ```
 */
export function decodeBridgeData(a: Attrs): BridgeInfo {
  return {
    stp: (a.u32(IFLA_BR_STP_STATE) ?? 0) !== 0,
    ageingTime: a.u32(IFLA_BR_AGEING_TIME),
    forwardDelay: a.u32(IFLA_BR_FORWARD_DELAY),
    vlanFiltering: (a.u8(IFLA_BR_VLAN_FILTERING) ?? 0) !== 0,
  };
}
