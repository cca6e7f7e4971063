"""Video probe, poster frame and a web-playable transcode, with PyAV.

Pure (no Django). PyAV (`av` on PyPI) ships FFmpeg, libx264 and the AAC encoder inside its
wheels, so nothing has to be installed on the machine, and the work runs in-process where it
can heartbeat, be cancelled and stop at the time limit between frames (a child `ffmpeg` binary
could do none of that without a wrapper of its own).

The `web` variant is H.264 (yuv420p, `veryfast` preset, CRF 23) with AAC stereo audio in an MP4
whose index (moov) is at the front (`faststart`), fitted within 1280x720 and never enlarged:
what every browser plays progressively.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
from PIL import Image

WEB_MAX_WIDTH, WEB_MAX_HEIGHT = 1280, 720
# How often (seconds of wall time) progress is reported while transcoding: the activity's heartbeat.
PROGRESS_EVERY = 1.0


class VideoError(Exception):
    """The video cannot be read, or breaks a limit; the message says which."""


@dataclass(frozen=True)
class VideoLimits:
    max_seconds: float = 3600.0  # of video
    max_pixels: int = 3840 * 2160  # per frame
    max_work_seconds: float = 1800.0  # of wall time, per step


@dataclass(frozen=True)
class VideoInfo:
    duration_seconds: float
    width: int
    height: int
    codec: str
    audio_codec: str = ""
    frame_rate: float = 0.0

    def as_dict(self) -> dict:
        return {
            "duration_seconds": round(self.duration_seconds, 3),
            "width": self.width,
            "height": self.height,
            "codec": self.codec,
            "audio_codec": self.audio_codec,
            "frame_rate": round(self.frame_rate, 3),
        }


def _open(path: str):
    try:
        return av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"the video is corrupt or unreadable: {exc}") from None


def probe(path: str, *, limits: VideoLimits) -> VideoInfo:
    """Duration, size and codecs from the container's headers; refuses what is over the limits."""
    with _open(path) as container:
        if not container.streams.video:
            raise VideoError("the file has no video stream")
        stream = container.streams.video[0]
        duration = _duration(container, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise VideoError("the video stream has no frame size (corrupt header?)")
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else ""
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        info = VideoInfo(duration, width, height, stream.codec_context.name, audio, rate)
    check(info, limits)
    return info


def check(info: VideoInfo, limits: VideoLimits) -> None:
    if info.duration_seconds > limits.max_seconds:
        raise VideoError(f"the video lasts {info.duration_seconds:.0f} s, over the limit of {limits.max_seconds:.0f} s")
    if info.width * info.height > limits.max_pixels:
        raise VideoError(
            f"the video is {info.width}x{info.height} = {info.width * info.height} pixels a frame,"
            f" over the limit of {limits.max_pixels}"
        )


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def poster(path: str, info: VideoInfo, *, at_fraction: float = 0.1) -> Image.Image:
    """The frame at `at_fraction` of the duration (the first frame if seeking finds none)."""
    target = info.duration_seconds * at_fraction
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            if target > 0 and stream.time_base:
                container.seek(int(target / stream.time_base), stream=stream, backward=True)
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is None or frame.time >= target - 1e-3:
                    break
            if chosen is None and target > 0:  # a seek past the end: start again from the top
                container.seek(0, stream=stream)
                chosen = next(container.decode(stream), None)
        except av.FFmpegError as exc:
            raise VideoError(f"the video is corrupt or unreadable: {exc}") from None
        if chosen is None:
            raise VideoError("the video has no decodable frame")
        return chosen.to_image()


def fit(width: int, height: int, max_width: int = WEB_MAX_WIDTH, max_height: int = WEB_MAX_HEIGHT) -> tuple[int, int]:
    """Within the bounds, aspect kept, never enlarged, even sides (yuv420p needs them)."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def transcode_web(
    source: str,
    target: str,
    *,
    info: VideoInfo,
    limits: VideoLimits,
    progress: Callable[[float], None] | None = None,
) -> tuple[int, int]:
    """Write the `web` MP4 of `source` to `target`; returns its size. Calls `progress(seconds done)`."""
    deadline = time.monotonic() + limits.max_work_seconds
    width, height = fit(info.width, info.height)
    reported = time.monotonic()
    with _open(source) as inp, av.open(target, "w", format="mp4", options={"movflags": "+faststart"}) as out:
        in_video = inp.streams.video[0]
        in_video.thread_type = "AUTO"
        rate = in_video.average_rate or in_video.guessed_rate or Fraction(25)
        out_video = out.add_stream("libx264", rate=rate)
        out_video.width, out_video.height, out_video.pix_fmt = width, height, "yuv420p"
        out_video.options = {"preset": "veryfast", "crf": "23"}
        streams = [in_video]
        out_audio = resampler = None
        if inp.streams.audio:
            in_audio = inp.streams.audio[0]
            sample_rate = in_audio.codec_context.sample_rate or 48000
            out_audio = out.add_stream("aac", rate=sample_rate)
            out_audio.layout = "stereo"
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sample_rate)
            streams.append(in_audio)
        video_time_base = Fraction(1, math.ceil(rate) * 1000) if rate else Fraction(1, 90000)
        try:
            for packet in inp.demux(*streams):
                for frame in packet.decode():
                    seconds = float(frame.time or 0.0)
                    if seconds > limits.max_seconds:
                        raise VideoError(f"the video runs past the limit of {limits.max_seconds:.0f} s")
                    if packet.stream.type == "video":
                        scaled = frame.reformat(width=width, height=height, format="yuv420p")
                        scaled.pts = round(seconds / video_time_base) if frame.time is not None else None
                        scaled.time_base = video_time_base
                        out.mux(out_video.encode(scaled))
                    else:
                        for chunk in resampler.resample(frame):
                            chunk.pts = None  # the encoder numbers audio samples itself
                            out.mux(out_audio.encode(chunk))
                    now = time.monotonic()
                    if now > deadline:
                        raise VideoError(f"transcoding took longer than the limit of {limits.max_work_seconds:.0f} s")
                    if progress and now - reported >= PROGRESS_EVERY:
                        reported = now
                        progress(seconds)
            out.mux(out_video.encode(None))
            if out_audio is not None:
                out.mux(out_audio.encode(None))
        except av.FFmpegError as exc:
            raise VideoError(f"the video is corrupt or unreadable: {exc}") from None
    return width, height
