// The console's strings, one file per language: zh-CN (the default, and the fallback
// for a key another language lacks) and en. i18n.js picks from them.

import { en } from "./strings_en.js";
import { zhCN } from "./strings_zh-CN.js";

export const STRINGS = { "zh-CN": zhCN, en };
