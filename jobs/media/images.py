"""Image variants with Pillow: orientation applied, fitted within bounds, re-encoded, metadata gone.

Pure (no Django): the activity and the benchmark call `render_variants` with the original's bytes.
"""

import io
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {"webp": ("WEBP", "webp"), "jpeg": ("JPEG", "jpg"), "png": ("PNG", "png")}
# JPEG has no alpha channel: transparent pixels are flattened onto this colour.
JPEG_BACKGROUND = (255, 255, 255)


class ImageProcessingError(Exception):
    """The bytes are not an image Pillow can read, or it is too large to decode safely."""


@dataclass(frozen=True)
class VariantSpec:
    """`max_size` bounds both sides (the image is fitted inside, never enlarged)."""

    name: str
    max_size: int
    format: str = "webp"
    quality: int = 85

    @classmethod
    def from_dict(cls, data: dict) -> "VariantSpec":
        spec = cls(
            name=str(data["name"]),
            max_size=int(data["max_size"]),
            format=str(data.get("format", "webp")).lower(),
            quality=int(data.get("quality", 85)),
        )
        if spec.format not in FORMATS:
            raise ValueError(f"variant {spec.name!r}: format must be one of {', '.join(FORMATS)}")
        if not 1 <= spec.max_size <= 16384 or not 1 <= spec.quality <= 100:
            raise ValueError(f"variant {spec.name!r}: max_size 1..16384 and quality 1..100")
        return spec

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]


@dataclass(frozen=True)
class RenderedVariant:
    name: str
    data: bytes
    width: int
    height: int
    format: str
    extension: str


def open_image(data: bytes, *, max_pixels: int, draft_size: int | None = None) -> Image.Image:
    """Decode `data` with orientation applied; refuse anything over `max_pixels` before decoding."""
    # Pillow's own guard (warning above MAX_IMAGE_PIXELS, error above twice that) is process-wide;
    # the explicit check below is what enforces this call's limit.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageProcessingError(
                    f"the image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
                )
            if draft_size and image.format == "JPEG" and max(width, height) > draft_size:
                # libjpeg decodes at 1/2..1/8 scale in the DCT, keeping the long side >= the
                # largest variant: far less work than decoding everything and throwing it away.
                ratio = draft_size / max(width, height)
                image.draft("RGB", (math.ceil(width * ratio), math.ceil(height * ratio)))
            image.load()
            return ImageOps.exif_transpose(image)
    except ImageProcessingError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageProcessingError(f"the image is too large to decode safely: {exc}") from None
    except UnidentifiedImageError:
        raise ImageProcessingError("the file is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        raise ImageProcessingError(f"the image is corrupt or truncated: {exc}") from None


def _for_format(image: Image.Image, fmt: str) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if fmt == "jpeg":
        if has_alpha:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, JPEG_BACKGROUND)
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if has_alpha:
        return image if image.mode == "RGBA" else image.convert("RGBA")
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def _fit(image: Image.Image, max_size: int) -> Image.Image:
    resized = image.copy()
    resized.thumbnail((max_size, max_size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return resized


def _encode(resized: Image.Image, spec: VariantSpec, icc: bytes | None) -> RenderedVariant:
    resized = _for_format(resized, spec.format)
    pillow_format = FORMATS[spec.format][0]
    options: dict = {"quality": spec.quality} if spec.format in ("jpeg", "webp") else {"optimize": True}
    if spec.format == "jpeg":
        options.update(optimize=True, progressive=True)
    elif spec.format == "webp":
        options.update(method=4)
    if icc:
        options["icc_profile"] = icc  # colours stay right; EXIF, XMP and comments are not written
    out = io.BytesIO()
    resized.info = {}
    resized.save(out, pillow_format, exif=b"", **options)
    return RenderedVariant(spec.name, out.getvalue(), resized.width, resized.height, spec.format, spec.extension)


def encode_variant(image: Image.Image, spec: VariantSpec) -> RenderedVariant:
    """Encode an already fitted image as `spec` says (documents' and videos' thumbnails and posters)."""
    return _encode(image, spec, None)


def render_variants(data: bytes, specs: Sequence[VariantSpec], *, max_pixels: int) -> list[RenderedVariant]:
    """Every variant of the image in `data`; raises ImageProcessingError for unreadable input."""
    if not specs:
        return []
    image = open_image(data, max_pixels=max_pixels, draft_size=max(spec.max_size for spec in specs))
    icc = image.info.get("icc_profile")
    rendered: dict[str, RenderedVariant] = {}
    try:
        # Largest first, each smaller one resized from the previous result: far fewer pixels to
        # filter than going back to the original every time, and LANCZOS keeps the quality.
        source = image
        for spec in sorted(specs, key=lambda s: s.max_size, reverse=True):
            resized = _fit(source, spec.max_size)
            rendered[spec.name] = _encode(resized, spec, icc)
            source = resized
        return [rendered[spec.name] for spec in specs]
    except (OSError, ValueError) as exc:
        raise ImageProcessingError(f"the image could not be re-encoded: {exc}") from None


def parse_specs(config: Iterable[dict]) -> list[VariantSpec]:
    return [VariantSpec.from_dict(item) for item in config]
