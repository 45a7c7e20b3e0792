// A flat JSON object of string (and number/bool) values, enough for sample plugin configs.
// Parsed once in on_configure, never per request.
export class JsonConfig {
  private values: Map<string, string> = new Map<string, string>();

  constructor(text: string) {
    let i = 0;
    const n = text.length;
    while (i < n) {
      const k0 = text.indexOf('"', i);
      if (k0 < 0) break;
      const k1 = text.indexOf('"', k0 + 1);
      if (k1 < 0) break;
      const key = text.substring(k0 + 1, k1);
      let j = text.indexOf(":", k1);
      if (j < 0) break;
      j++;
      while (j < n && text.charAt(j) == " ") j++;
      if (j < n && text.charAt(j) == '"') {
        let end = j + 1;
        let value = "";
        while (end < n && text.charAt(end) != '"') {
          if (text.charAt(end) == "\\" && end + 1 < n) end++;
          value += text.charAt(end);
          end++;
        }
        this.values.set(key, value);
        i = end + 1;
      } else {
        let end = j;
        while (end < n && text.charAt(end) != "," && text.charAt(end) != "}") end++;
        this.values.set(key, text.substring(j, end).trim());
        i = end + 1;
      }
    }
  }

  get(key: string, fallback: string): string {
    return this.values.has(key) ? this.values.get(key) : fallback;
  }
}
