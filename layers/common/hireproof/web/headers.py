"""HTTP response headers of the verification page: revalidation and the browser's security policy."""

from __future__ import annotations

from urllib.parse import urlsplit

from hireproof.sessions import evidence
from hireproof.web.assets import Asset

# Any key works: only the URL of the signed POST is used, and nothing is sent to S3.
_ORIGIN_PROBE_KEY = "evidence/upload-origin-probe"
# FaceLivenessDetector downloads its face model and WebAssembly files from here.
LIVENESS_CDN_ORIGIN = "https://cdn.liveness.rekognition.amazonaws.com"


def upload_origin() -> str:
    """Return the origin (scheme, host, port) that the API's presigned evidence uploads go to.

    It is computed the way the verification API computes an upload URL, so the page's
    connect-src always allows the URL the API hands out, in AWS and on the local stack.
    """
    url = evidence.presigned_post(_ORIGIN_PROBE_KEY, "image/jpeg")["url"]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def liveness_origins(region: str) -> list[str]:
    """Return the origins Amplify UI's FaceLivenessDetector connects to from the hire's browser.

    Cognito issues the browser's credentials, Rekognition streams the video over a WebSocket,
    and the detector fetches its face model and the TensorFlow.js WebAssembly files from
    the Rekognition CDN (the defaults of @aws-amplify/ui-react-liveness 3.6).
    """
    return [
        f"https://cognito-identity.{region}.amazonaws.com",
        f"wss://streaming-rekognition.{region}.amazonaws.com",
        LIVENESS_CDN_ORIGIN,
    ]


def content_security_policy(upload_origin: str, liveness_region: str | None = None) -> str:
    """Build the page's Content-Security-Policy: own scripts and styles, the camera, S3 uploads.

    With `liveness_region` (the Rekognition engine), the policy also lets the Face Liveness
    detector compile WebAssembly and reach its origins (`liveness_origins`).
    """
    scripts = "script-src 'self'"
    connect = ["'self'", upload_origin]
    if liveness_region:
        # 'wasm-unsafe-eval' allows WebAssembly compilation only, not JavaScript eval().
        scripts += " 'wasm-unsafe-eval'"
        connect += liveness_origins(liveness_region)
    directives = [
        "default-src 'none'",
        scripts,
        "style-src 'self'",
        # blob: shows the photo the hire just took before it is uploaded.
        "img-src 'self' blob:",
        "media-src 'self' blob: mediastream:",
        f"connect-src {' '.join(connect)}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def common_headers() -> dict[str, str]:
    """Return the headers of every page response."""
    return {
        # Revalidate on every load: file names carry no version, and a 304 is cheap.
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Strict-Transport-Security": "max-age=31536000",
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def not_modified(if_none_match: str | None, asset: Asset) -> bool:
    """Tell whether an If-None-Match header names the asset's current ETag (weak or strong)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or asset.etag in tags
