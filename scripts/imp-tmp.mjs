import v8 from 'node:v8';
import { readFileSync } from 'node:fs';
const spec = process.argv[2];
const st = () => { globalThis.gc(); globalThis.gc(); const h = v8.getHeapStatistics(); const s = readFileSync('/proc/self/status','utf8'); const g=(k)=>Number(new RegExp(k+':\\s+(\\d+)').exec(s)[1])/1024; return { used: h.used_heap_size/1048576, anon: g('RssAnon'), file: g('RssFile') }; };
const a = st();
if (spec !== 'none') await import(spec);
await new Promise(r => setTimeout(r, 200));
const b = st();
console.log(spec.replace(/.*dist\//,''), 'heapUsed +' + (b.used - a.used).toFixed(1), 'anon +' + (b.anon - a.anon).toFixed(1), 'file +' + (b.file - a.file).toFixed(1), 'total anon', b.anon.toFixed(1), 'heap', b.used.toFixed(1));
