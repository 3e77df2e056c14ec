#!/usr/bin/env node
/**
 * Rebuilds assets/demo/group.jpg: five Face Research Lab London Set photos (CC BY 4.0) pasted at different sizes
 * into a 1280x720 frame, some small, to test multi-face and small-face detection. Needs the faces-london folder:
 *   node assets/make-group-image.js [/path/to/faces-london]
 * The layout is printed as JSON (also kept in assets/group.json for the tests).
 */
const fs = require('fs');
const path = require('path');
const sharp = require('sharp');

const src = process.argv[2] || path.join(__dirname, '..', '..', 'shared', 'data', 'faces-london');
const out = path.join(__dirname, 'demo');
const LAYOUT = [
  { photo: 'happy/029.jpg', size: 340, left: 40, top: 330 },
  { photo: 'neutral/099.jpg', size: 250, left: 420, top: 60 },
  { photo: 'happy/113.jpg', size: 180, left: 760, top: 420 },
  { photo: 'neutral/067.jpg', size: 130, left: 1050, top: 120 },
  { photo: 'happy/172.jpg', size: 100, left: 1100, top: 560 },
];

(async () => {
  const layers = [];
  for (const p of LAYOUT) layers.push({ input: await sharp(path.join(src, p.photo)).resize(p.size, p.size).toBuffer(), left: p.left, top: p.top });
  await sharp({ create: { width: 1280, height: 720, channels: 3, background: '#5d6b73' } })
    .composite(layers)
    .jpeg({ quality: 88 })
    .toFile(path.join(out, 'group.jpg'));
  const layout = { width: 1280, height: 720, photos: LAYOUT };
  fs.writeFileSync(path.join(__dirname, 'group.json'), JSON.stringify(layout, null, 2) + '\n');
  console.log(JSON.stringify(layout));
})();
