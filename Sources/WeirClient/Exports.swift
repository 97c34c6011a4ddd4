// WeirClient implements the seam; its users see the seam's types (ClientError, the records,
// the protocols) without a second import.
@_exported public import WeirClientAPI
