/**
 * Until the telemetry issue brings Istio's access-log formats, access records go to stdout as one
 * JSON object per line, tagged with the component.
 */
export function jsonLineSink(component: string): (record: object) => void {
  return (record) => {
    process.stdout.write(`${JSON.stringify({ component, ...record })}\n`);
  };
}
