package national

// province is one provincial-level division of the national world.
type province struct {
	code   string // GB/T 2260 two-digit prefix
	name   string
	abbr   string // 简称, the first character of its plates
	cities int    // prefecture-level authorities, weights the issuer split
}

// provinces lists the 32 provincial-level transport authorities, largest
// first: a world with Config.Provinces = n uses the first n. The order also
// decides which issuers are big (see plan.allocateEntries) and which
// provinces delegate to city CAs.
var provinces = []province{
	{"44", "广东省", "粤", 21},
	{"37", "山东省", "鲁", 16},
	{"41", "河南省", "豫", 17},
	{"32", "江苏省", "苏", 13},
	{"51", "四川省", "川", 21},
	{"13", "河北省", "冀", 11},
	{"33", "浙江省", "浙", 11},
	{"43", "湖南省", "湘", 14},
	{"34", "安徽省", "皖", 16},
	{"42", "湖北省", "鄂", 14},
	{"45", "广西壮族自治区", "桂", 14},
	{"53", "云南省", "云", 16},
	{"36", "江西省", "赣", 11},
	{"35", "福建省", "闽", 9},
	{"21", "辽宁省", "辽", 14},
	{"61", "陕西省", "陕", 10},
	{"14", "山西省", "晋", 11},
	{"52", "贵州省", "贵", 9},
	{"50", "重庆市", "渝", 4},
	{"23", "黑龙江省", "黑", 13},
	{"65", "新疆维吾尔自治区", "新", 14},
	{"62", "甘肃省", "甘", 14},
	{"31", "上海市", "沪", 3},
	{"15", "内蒙古自治区", "蒙", 12},
	{"22", "吉林省", "吉", 9},
	{"11", "北京市", "京", 3},
	{"12", "天津市", "津", 2},
	{"46", "海南省", "琼", 4},
	{"64", "宁夏回族自治区", "宁", 5},
	{"63", "青海省", "青", 8},
	{"54", "西藏自治区", "藏", 7},
	{"66", "新疆生产建设兵团", "新", 2},
}

// cityCAProvinces is how many of the first provinces delegate their first
// cityCAsPerProvince cities to city CAs (4-digit prefixes), as 广东 does
// for 深圳 in the small demo world.
const (
	cityCAProvinces    = 4
	cityCAsPerProvince = 2
)

// authorityName is the transport authority of a province.
func (p province) authorityName() string {
	switch p.code {
	case "11", "12", "31", "50":
		return p.name + "交通委员会"
	case "66":
		return p.name + "交通运输局"
	}
	return p.name + "交通运输厅"
}

// cityName is a fictitious but stable name for city number n (1-based)
// of p: the code is what matters to verification, the name to people.
func cityName(p province, code string) string {
	return p.name + code + "交通运输局"
}
