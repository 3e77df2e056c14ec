#!/bin/bash
# Reproduces results/opencv/README.md "live window": a 640x480 clip from the demo photos, `fer webcam` in a window
# under Xvfb to the end of the clip, then a 600-frame run where xdotool presses s, f and q (screenshots in between).
# Needs: ffmpeg, xvfb (xvfb-run), xdotool, the built lib (npx tsc -p lib) and @u4/opencv4nodejs.
# Usage: bash results/opencv/live-window.sh [workdir]   (default /tmp/fer-live)
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-/tmp/fer-live}
mkdir -p "$W"
pad='scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=10'
# 6 s at 10 fps: 022_happy, 034_neutral (mirrored), group, 061_happy (1.2 s each), then 1.2 s of an empty wall.
ffmpeg -v error -y -loop 1 -t 1.2 -i assets/demo/022_happy.jpg -loop 1 -t 1.2 -i assets/demo/034_neutral.jpg \
  -loop 1 -t 1.2 -i assets/demo/group.jpg -loop 1 -t 1.2 -i assets/demo/061_happy.jpg -f lavfi -t 1.2 -i color=c=0x557766:s=640x480:r=10 \
  -filter_complex "[0]$pad[a];[1]$pad,hflip[b];[2]$pad[c];[3]$pad[d];[4]setsar=1,fps=10[e];[a][b][c][d][e]concat=n=5:v=1[v]" \
  -map '[v]' -c:v libx264 -pix_fmt yuv420p "$W/clip.mp4"
ffmpeg -v error -y -stream_loop 9 -i "$W/clip.mp4" -c copy "$W/long.mp4"

echo '== to the end of the clip, recording'
xvfb-run -a node lib/bin/fer.js webcam --video "$W/clip.mp4" --out "$W/live.mp4"
ffprobe -v error -count_frames -show_entries stream=width,height,nb_read_frames,avg_frame_rate -of csv=p=0 "$W/live.mp4"

echo '== keys: s (bars off), f (FPS off), q (quit) on the 600-frame clip'
cat > "$W/keys.sh" <<KEYS
#!/bin/bash
node lib/bin/fer.js webcam --video "$W/long.mp4" &
PID=\$!
for i in \$(seq 1 60); do WID=\$(xdotool search --name 'fer-lab' 2>/dev/null | head -1); [ -n "\$WID" ] && break; sleep 0.5; done
echo "window: \$(xdotool getwindowname \$WID)"
sleep 3; ffmpeg -v error -y -f x11grab -video_size 1024x768 -i \$DISPLAY -frames:v 1 "$W/shot1.png"
xdotool windowfocus --sync \$WID
xdotool key --clearmodifiers s; sleep 2; ffmpeg -v error -y -f x11grab -video_size 1024x768 -i \$DISPLAY -frames:v 1 "$W/shot2.png"
xdotool key --clearmodifiers f; sleep 2; ffmpeg -v error -y -f x11grab -video_size 1024x768 -i \$DISPLAY -frames:v 1 "$W/shot3.png"
xdotool key --clearmodifiers q
wait \$PID
KEYS
xvfb-run -a -s '-screen 0 1024x768x24' bash "$W/keys.sh"
echo "screenshots: $W/shot1.png (bars, FPS) $W/shot2.png (after s) $W/shot3.png (after f)"
