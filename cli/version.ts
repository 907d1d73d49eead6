/** The version of flannel-lab, printed by `--version`. */
export const VERSION = "0.1.0";
