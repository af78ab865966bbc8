/** @jsxImportSource hono/jsx */
import type { PathGraph } from '../timeline.ts';

const W = 150;
const H = 34;
const GX = 40;
const GY = 14;

/** The failing service's paths through the map to the top hypotheses, as a small inline SVG tree. */
export function PathSvg(props: { graph: PathGraph }) {
  const { nodes, edges } = props.graph;
  const pos = new Map(nodes.map((n) => [n.service, { x: 4 + n.depth * (W + GX), y: 4 + n.row * (H + GY) }]));
  const width = 8 + (Math.max(0, ...nodes.map((n) => n.depth)) + 1) * (W + GX) - GX;
  const height = 8 + (Math.max(0, ...nodes.map((n) => n.row)) + 1) * (H + GY) - GY;
  const label = nodes
    .filter((n) => n.depth > 0)
    .map((n) => n.service)
    .join(', ');
  return (
    <svg
      class="pathsvg"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      role="img"
      aria-label={`Dependency path from ${nodes[0]?.service ?? '?'} to ${label || 'itself'}`}
    >
      <defs>
        <marker id="arr" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L8,4 L0,8 z" class="arrow" />
        </marker>
      </defs>
      {edges.map((e) => {
        const a = pos.get(e.from)!;
        const b = pos.get(e.to)!;
        return (
          <path
            class="edge"
            d={`M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x - 2},${b.y + H / 2}`}
            marker-end="url(#arr)"
          />
        );
      })}
      {nodes.map((n) => {
        const p = pos.get(n.service)!;
        return (
          <g class={`node ${n.role}`}>
            <rect x={p.x} y={p.y} width={W} height={H} rx="6" />
            <text x={p.x + W / 2} y={p.y + H / 2 + 4} text-anchor="middle">
              {n.service.length > 20 ? `${n.service.slice(0, 19)}…` : n.service}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
