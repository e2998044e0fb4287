from omni.errors import BadRequest, Conflict, NotFound


class InvalidRules(BadRequest):
    code = "invalid_segment_rules"
    message = "The segment's rules are not valid."


class SegmentNotFound(NotFound):
    code = "segment_not_found"
    message = "No segment has this ID."


class SegmentInUse(Conflict):
    code = "segment_in_use"
    message = "Campaigns target this segment; point them elsewhere first."


class SegmentNameTaken(Conflict):
    code = "segment_name_taken"
    message = "Another segment has this name."


class InvalidMemberList(BadRequest):
    code = "invalid_member_list"
    message = "The list has rows that cannot be loaded; nothing was changed."


class NotAStaticSegment(BadRequest):
    code = "not_a_static_segment"
    message = "Only a static segment holds a list of members."
